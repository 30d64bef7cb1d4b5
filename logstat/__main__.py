from logstat.cli import main

main()
