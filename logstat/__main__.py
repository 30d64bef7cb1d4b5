from logstat.cli import main

main(teardown=False)  # the process ends here: no teardown needed (cli/program.py)
