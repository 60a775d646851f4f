from hpcgen.cli import main

raise SystemExit(main())
