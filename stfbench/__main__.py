from stfbench.cli import main

main()
