from k8s_mcp_server.cli import main

raise SystemExit(main())
