//! The agent: configuration files (HCL and JSON), and later the wiring of server, client and /v1 HTTP API.
