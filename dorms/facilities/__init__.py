"""Facilities: what each room holds (bed, desk, air conditioner…), its condition and the history of it."""
