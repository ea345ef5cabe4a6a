"""Create or drop a PostgreSQL database for CI: pgdb.py create|drop SERVER_URL NAME."""

import sys

import psycopg
from psycopg import sql


def main(action: str, server_url: str, name: str) -> None:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        if action == "create":
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(f"test_{name}")))


if __name__ == "__main__":
    main(*sys.argv[1:4])
