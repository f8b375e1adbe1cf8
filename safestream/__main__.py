from safestream.cli import main

raise SystemExit(main())
