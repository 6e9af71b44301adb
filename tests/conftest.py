"""Suite-wide fixtures; component fixtures live in ``tests/fixtures`` as plugins."""

pytest_plugins = [
    "tests.fixtures.hardhat",
    "tests.fixtures.database",
    "tests.fixtures.hub_process",
    "tests.fixtures.notary_world",
    "tests.fixtures.s3_server",
    "tests.fixtures.hub_app",
    "tests.fixtures.evm_calls",
    "tests.fixtures.wallet_hub",
    "tests.fixtures.browser",
    "tests.fixtures.anvil",  # issue 16: the topology of several processes
    "tests.fixtures.private_postgres",
    "tests.fixtures.cluster",
]
