"""Room change requests: a student asks to swap beds with a named student, or to move.

Requests are met in a requests round (an allocation run of its own mode):
beds change hands through top trading cycles (``solver/exchange.py``),
so only those who asked move and nobody ends worse off than in their own bed.
"""
