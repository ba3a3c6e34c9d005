"""A run: its directory (:mod:`vietser.run.dir`) and the stages that fill it (train, evaluate, refine, predict).

Import the stage modules themselves; this package imports nothing, so reading a run's files stays cheap.
"""
