from spec_kitty_hub.cli.main import main

main()
