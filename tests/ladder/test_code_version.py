"""A cached ladder step never outlives a code change: by default it reruns (the old run kept as
``.superseded``); ``--reuse-stale`` keeps it and the report marks it."""

import os.path as osp
import subprocess
import textwrap
from pathlib import Path

import pytest
from _fake_steps import fake_processes

import tricks_mm
from tricks_mm.cli import ladder as cli_ladder
from tricks_mm.ladder import code_version as cv
from tricks_mm.ladder import orchestrate
from tricks_mm.ladder import plan as plan_module
from tricks_mm.ladder.records import RecordBook
from tricks_mm.ladder.report import write_report
from tricks_mm.ladder.spec import load_ladder


def _code(source: str) -> dict:
    return dict(
        package='0.1.0',
        source_sha256=source,
        hosts={'torch': '2.14.1'},
        commit='c' * 40,
        dirty=False,
    )


@pytest.fixture
def control_ladder(repo, tmp_path):
    path = tmp_path / 'ladder.py'
    path.write_text(
        textwrap.dedent(f"""
        ladder = dict(name='code', seeds=[0],
            detect=dict(config='{repo}/configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
            segment=dict(config='{repo}/configs/toy/fcn_botr18-d-d8_toy-ade.py'),
            rungs=[dict(name='control')])
    """)
    )
    return str(path)


def test_changed_code_reruns_unless_reuse_stale(control_ladder, tmp_path, monkeypatch, capsys):
    commands = fake_processes(monkeypatch)
    work = str(tmp_path / 'wd')
    version = {'code': _code('a' * 64)}
    monkeypatch.setattr(plan_module, 'code_version', lambda: version['code'])
    monkeypatch.setattr(orchestrate, 'report', lambda *args, **kwargs: {})

    def ladder(*flags):
        commands.clear()
        cli_ladder.main([control_ladder, '--work-dir', work, *flags])
        return len(commands)

    assert ladder() == 2  # detect + segment, each trains and tests in one process
    first = RecordBook(work).all()
    assert first['seed0-control-detect']['code'] == version['code']
    assert ladder() == 0  # same code: skipped

    version['code'] = _code('b' * 64)  # a fix in the package
    assert ladder('--reuse-stale') == 0  # kept on request...
    assert 'its result is reused (--reuse-stale)' in capsys.readouterr().out
    spec = load_ladder(control_ladder, work)
    report = Path(write_report(spec, RecordBook(work).all(), code=version['code'])['md'])
    text = report.read_text()
    assert '| control | - | 50.00 † | - | - |' in text  # ...and marked stale
    assert '†: computed by other code than the current' in text
    assert '| seed0-control-segment | 1 | 4 (4) | 0.05 (0.05) | † stale |' in text

    assert ladder() == 2  # by default it reruns
    assert osp.isdir(osp.join(work, 'seed0', 'control', 'detect.superseded'))
    rerun = RecordBook(work).all()
    assert rerun['seed0-control-detect']['code'] == version['code']
    assert (
        rerun['seed0-control-detect']['config_key'] == first['seed0-control-detect']['config_key']
    )
    text = Path(write_report(spec, rerun, code=version['code'])['md']).read_text()
    assert (
        '†' not in text and '| seed0-control-detect | 1 | 4 (4) | 0.02 (0.02) | current |' in text
    )


def test_source_digest_follows_every_package_file(tmp_path):
    pkg = tmp_path / 'pkg'
    (pkg / 'sub' / '__pycache__').mkdir(parents=True)
    (pkg / 'a.py').write_text('x = 1\n')
    (pkg / 'sub' / 'b.py').write_text('y = 2\n')
    base = cv._source_sha256(str(pkg))
    (pkg / 'sub' / '__pycache__' / 'b.cpython-311.pyc').write_bytes(b'\0')
    (pkg / 'notes.txt').write_text('not code')
    assert cv._source_sha256(str(pkg)) == base
    (pkg / 'sub' / 'b.py').write_text('y = 3\n')
    assert cv._source_sha256(str(pkg)) != base
    (pkg / 'sub' / 'b.py').write_text('y = 2\n')
    (pkg / 'sub' / 'b.py').rename(pkg / 'b.py')  # same bytes, other module
    assert cv._source_sha256(str(pkg)) != base


def test_code_version_of_this_checkout():
    version = cv.code_version()
    repo = osp.dirname(osp.dirname(tricks_mm.__file__))
    assert version['package'] == tricks_mm.__version__
    assert version['source_sha256'] == cv._source_sha256(osp.dirname(tricks_mm.__file__))
    assert set(version['hosts']) == set(cv.HOSTS) and version['hosts']['torch']
    if not osp.isdir(osp.join(repo, '.git')) and not osp.isfile(osp.join(repo, '.git')):
        assert version['commit'] is None and version['dirty'] is None
        return
    head = subprocess.run(
        ['git', '-C', repo, 'rev-parse', 'HEAD'], capture_output=True, text=True, check=True
    ).stdout.strip()
    status = subprocess.run(
        ['git', '-C', repo, 'status', '--porcelain', '--', 'tricks_mm'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version['commit'] == head and version['dirty'] is bool(status.strip())
    # the commit and dirty flag are for people; only the identity decides reruns
    assert cv.code_identity(version) == {k: version[k] for k in cv.IDENTITY_KEYS}
    assert 'commit' not in cv.code_identity(version)


def test_a_runs_report_judges_its_steps_by_the_code_it_started_with(
    control_ladder, tmp_path, monkeypatch
):
    """A source file edited while the ladder ran is not the code of its steps: the report the
    run writes marks them current; a later --report-only, with the edited code, marks them †."""
    from tricks_mm.ladder import report as report_module

    fake_processes(monkeypatch)
    work = str(tmp_path / 'wd')
    monkeypatch.setattr(plan_module, 'code_version', lambda: _code('a' * 64))
    monkeypatch.setattr(report_module, 'code_version', lambda: _code('e' * 64))  # edited since
    cli_ladder.main([control_ladder, '--work-dir', work])
    text = (Path(work) / 'report.md').read_text()
    assert '| seed0-control-detect | 1 | 4 (4) | 0.02 (0.02) | current |' in text
    cli_ladder.main([control_ladder, '--work-dir', work, '--report-only'])
    text = (Path(work) / 'report.md').read_text()
    assert '| seed0-control-detect | 1 | 4 (4) | 0.02 (0.02) | † stale |' in text
