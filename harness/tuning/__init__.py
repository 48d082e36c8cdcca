"""Finding the smallest quantized model that passes: per-node sensitivity and the recipe search.

Above both harness.models (recipes, the store) and harness.evaluation (the measurements).
"""
