"""Trainers: supervised tagger training, checkpoints."""
