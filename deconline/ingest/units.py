"""The units feeds speak, in SI: every parser converts at the edge with these."""

FT = 0.3048  # metres in a foot
KT = 1852.0 / 3600.0  # m/s in a knot
FPM = FT / 60.0  # m/s in a foot per minute
NM = 1852.0  # metres in a nautical mile
FL = 100 * FT  # metres in a flight level
