"""The FastAPI activation API (`splat_server.app:app`); its routes arrive with the API issue."""

from fastapi import FastAPI

app = FastAPI(title="splat activation API")
