from logstat.cli import run

run()
