"""Measurements of Vigia's detection against data whose answers are known.

Detection itself (:mod:`shared.detection`) depends on the domain alone; measuring it needs the
simulator's planted data set and the Portal's parsers as well, so the measurement lives here,
above both. :mod:`shared.evaluation.quality` prints recall, look-alike false alarms and the clean
flag rate per indicator.
"""
