"""Launchers the service's tests and benchmarks share, that are neither: real Motia 0.17 on this project.

steprunner's own launchers (a server process, a CLI run, a throwaway PostgreSQL) ship with the runtime as
`steprunner.testing`; what is here needs this repository's Motia install (node_modules/, python_modules/).
"""
