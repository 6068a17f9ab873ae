"""Models: the tagger (embeddings + encoder + structured layer), save/load."""
