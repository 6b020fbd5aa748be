from minerva_core.cli import main

main()
