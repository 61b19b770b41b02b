"""Accuracy: published tables, users' measured rows, and measuring top-1/top-5 on an image folder."""
