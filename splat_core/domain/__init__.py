"""The game's language: ability vocabulary and weapon table, the tokenizer between abilities
and tokens, build legality, and how builds read for people. Imports nothing else of splat."""
