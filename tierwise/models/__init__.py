"""Per-tenant machine-learning models: features as of a cutoff, LightGBM training,
the model registry and scoring."""
