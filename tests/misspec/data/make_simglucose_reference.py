"""Write simglucose_reference.json: simglucose's own patient trajectories for fixed inputs.

Run with simglucose installed in a throwaway venv (its gym pins clash with Gymnasium 1.x):

    python -m venv /tmp/sg && /tmp/sg/bin/pip install --no-deps simglucose
    /tmp/sg/bin/pip install numpy scipy pandas
    /tmp/sg/bin/python tests/misspec/data/make_simglucose_reference.py

Inputs per patient: the patient's basal rate throughout, a 60 g meal announced at minute 60
with a 4 U bolus over that minute, no insulin at all from minute 480 to 720, then basal again;
BG (mg/dL, the subcutaneous glucose simglucose observes) every 5 minutes for 16 hours.
Also Kovatchev's risk index of the whole trajectory (simglucose.analysis.risk.risk_index).
"""

import importlib.metadata
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

# simglucose/__init__.py registers its gym envs (gym==0.9.4): load the package without it
_spec = importlib.util.find_spec("simglucose")
_pkg = types.ModuleType("simglucose")
_pkg.__path__ = list(_spec.submodule_search_locations)  # type: ignore[union-attr]
sys.modules["simglucose"] = _pkg

import simglucose.patient.t1dpatient as t1d  # noqa: E402
from simglucose.analysis.risk import risk_index  # noqa: E402
from simglucose.patient.t1dpatient import Action, T1DPatient  # noqa: E402

t1d.PATIENT_PARA_FILE = str(Path(_pkg.__path__[0]) / "params" / "vpatient_params.csv")

VERSION = importlib.metadata.version("simglucose")

PATIENTS = ("adolescent#001", "adult#001", "child#001")
MINUTES = 960
MEAL_MINUTE, MEAL_G, BOLUS_U = 60, 60.0, 4.0
NO_INSULIN = (480, 720)
EVERY = 5


def inputs(basal: float) -> tuple[list[float], list[float]]:
    cho = [MEAL_G if t == MEAL_MINUTE else 0.0 for t in range(MINUTES)]
    ins = [
        0.0 if NO_INSULIN[0] <= t < NO_INSULIN[1] else basal + (BOLUS_U if t == MEAL_MINUTE else 0)
        for t in range(MINUTES)
    ]
    return cho, ins


def main() -> None:
    out = {
        "source": f"simglucose {VERSION}",
        "minutes": MINUTES,
        "every": EVERY,
        "meal_minute": MEAL_MINUTE,
        "meal_g": MEAL_G,
        "bolus_u": BOLUS_U,
        "no_insulin": list(NO_INSULIN),
        "patients": {},
    }
    for name in PATIENTS:
        p = T1DPatient.withName(name)
        basal = float(p._params.u2ss * p._params.BW / 6000)
        cho, ins = inputs(basal)
        bg = []
        for t in range(MINUTES):
            p.step(Action(CHO=cho[t], insulin=ins[t]))
            bg.append(float(p.observation.Gsub))
        lbgi, hbgi, ri = risk_index(np.array(bg), MINUTES)
        out["patients"][name] = {
            "basal": basal,
            "bg": [round(b, 4) for b in bg[EVERY - 1 :: EVERY]],
            "lbgi": float(lbgi),
            "hbgi": float(hbgi),
            "risk_index": float(ri),
        }
    path = Path(__file__).with_name("simglucose_reference.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
