"""The assessment pallet: the models of the credit score (C5).

The score itself is computed by the credit pallet (pallets/credit/score.py)
from the feature list and the integer logistic of ``model``; this pallet
keeps the coefficients: network-wide, installed by governance (G4), and per
fund, installed by the fund's consent (F8) with its minimum score, plus the
model each request was made under and the features it was scored on.
"""

from __future__ import annotations

from typing import Final

from pallets.assess import calls, errors, events, model, storage
from pallets.support.declare import Pallet

PALLET: Final = Pallet(
    name="assess",
    index=15,
    doc="Credit assessment models: coefficients by governance or fund consent (C5).",
    calls=tuple(calls.calls.defs),
    events=tuple(events.events.defs),
    errors=tuple(errors.errors.defs),
    storage=tuple(storage.storage.items),
    constants={
        "features": len(model.FEATURES),
        "coefficient_scale": model.COEF_SCALE,
        "sigmoid_error_ppm": model.SIGMOID_ERROR_PPM,
    },
)
