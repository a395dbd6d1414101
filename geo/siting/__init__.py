"""Site suggestions: where to add stations so they newly cover the most demand (MCLP).

:mod:`~geo.siting.suggest` is the public entry (:func:`~geo.siting.suggest.suggest_sites`
and every name callers need); the work is split into :mod:`~geo.siting.demand`,
:mod:`~geo.siting.candidates`, :mod:`~geo.siting.problem` (the element structure),
:mod:`~geo.siting.solvers` (lazy greedy, ILP) and :mod:`~geo.siting.outputs` (the
result and its files).
"""
