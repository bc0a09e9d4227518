import mlsafety.envs  # noqa: F401  (registers every env)
