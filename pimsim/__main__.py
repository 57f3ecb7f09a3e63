from pimsim.cli import main

main()
