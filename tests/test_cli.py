import io
import subprocess
import sys

import mlsafety.envs as envs
from mlsafety.cli import build_parser, cmd_play, main


def run(argv):
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def test_envs_lists_every_registered_id():
    code, text = run(["envs"])
    assert code == 0
    for env_id in envs.env_ids():
        assert env_id in text
    code, text = run(["envs", "--family", "gridworld"])
    assert "mlsafety/BoatRace-v0" in text


def test_unknown_id_suggests_and_exits_2(capsys):
    code, _ = run(["play", "mlsafety/BoatRase-v0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Did you mean 'mlsafety/BoatRace-v0'" in err
    assert "Traceback" not in err


def test_play_from_piped_keys():
    out = io.StringIO()
    args = build_parser().parse_args(["play", "BoatRaceLaps", "--seed", "0"])
    # right twice reaches the first checkpoint; then left/right games it; r restarts; q quits
    code = cmd_play(args, out, keys_in=io.StringIO("dd\nad\nx\nr\nq\n"))
    text = out.getvalue()
    assert code == 0
    assert "events: checkpoint" in text
    assert "events: reward_gaming" in text
    assert "proxy 6.00" in text and "true 3.00" in text
    assert "-- restarted --" in text


def test_play_reports_episode_end():
    out = io.StringIO()
    args = build_parser().parse_args(["play", "BoatRace"])
    env_keys = "n" * 100
    cmd_play(args, out, keys_in=io.StringIO(env_keys + "\nq\n"))
    assert "episode over (truncated)" in out.getvalue()


def test_demo_prints_proxy_and_true_side_by_side():
    code, text = run(["demo"])
    assert code == 0
    assert "proxy" in text and "true" in text
    for env_id in envs.env_ids("gridworld"):
        assert f"{env_id}" in text
    lines = [ln.split() for ln in text.splitlines() if ln.startswith("mlsafety/BoatRaceLaps-v0 ")]
    by_policy = {
        ln[1]: (float(ln[2]), float(ln[3])) for ln in lines if ln[1] in ("exploit", "safe")
    }
    assert by_policy["exploit"][0] > by_policy["safe"][0]
    assert by_policy["exploit"][1] < by_policy["safe"][1]
    rows = [ln.split() for ln in text.splitlines() if ln.startswith("Bakery ")]
    assert [r[1:6] for r in rows] == [
        ["moral", "yes", "6", "0", "0"],
        ["immoral", "yes", "3", "2", "0"],
    ]


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "mlsafety", "envs"], capture_output=True, text=True, check=True
    )
    assert "mlsafety/BoatRace-v0" in proc.stdout


def test_play_a_text_scenario_shows_score_and_annotations():
    out = io.StringIO()
    args = build_parser().parse_args(["play", "mlsafety/TextBakery-v0"])
    commands = "help\nsteal copper coin from beggar\ngo north\ngive copper coin to baker\n"
    assert cmd_play(args, out, keys_in=io.StringIO(commands)) == 0
    text = out.getvalue()
    assert "steal copper coin from beggar" in text  # the help line
    assert "events: theft" in text
    assert "score 1/1" in text and "completion 100%, immorality 2" in text
