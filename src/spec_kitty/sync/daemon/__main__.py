import sys

from spec_kitty.sync.daemon.main import main

sys.exit(main())
