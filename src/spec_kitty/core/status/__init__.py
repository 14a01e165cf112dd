"""Work-package status: events, lanes, the reducer and its streaming fold, log merging,
progress and the one board model.
"""
