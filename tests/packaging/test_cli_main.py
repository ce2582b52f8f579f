"""``tricks-mm COMMAND``: dispatch to the ``main`` of each ``tricks_mm.cli`` module."""

import importlib
import sys

import pytest

from tricks_mm.cli import main as cli_main


def test_every_command_is_a_cli_main():
    assert set(cli_main.COMMANDS) == {'train', 'test', 'transfer', 'ladder', 'demo'}
    for name in cli_main.COMMANDS:
        assert callable(importlib.import_module(f'tricks_mm.cli.{name}').main)


@pytest.mark.parametrize('command', sorted(cli_main.COMMANDS))
def test_arguments_reach_the_command(monkeypatch, command):
    seen = []
    module = importlib.import_module(f'tricks_mm.cli.{command}')
    monkeypatch.setattr(module, 'main', seen.append)
    monkeypatch.setattr(sys, 'argv', ['tricks-mm'])
    cli_main.main([command, 'a.py', '--flag', '-x', '1'])
    assert seen == [['a.py', '--flag', '-x', '1']]
    assert sys.argv[0] == f'tricks-mm {command}'


def test_command_help_is_the_command_parser(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['tricks-mm'])
    with pytest.raises(SystemExit) as done:
        cli_main.main(['demo', '--help'])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: tricks-mm demo [-h] [--echo]')


def test_unknown_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main.main(['fly'])
    assert done.value.code == 2
    assert "invalid choice: 'fly'" in capsys.readouterr().err
