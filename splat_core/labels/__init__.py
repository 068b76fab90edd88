"""Feature labels: a transactional SQLite store with history, the labelling queue, and the
reference project's consolidated JSON / CSV formats (see `store.LabelStore`)."""

from splat_core.labels.model import CATEGORIES, Label, LabelConflict, LabelError, label_table
from splat_core.labels.store import LabelStore

__all__ = ["CATEGORIES", "Label", "LabelConflict", "LabelError", "LabelStore", "label_table"]
