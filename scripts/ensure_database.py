"""Create a PostgreSQL database if it is missing; exit 1 if the server cannot be reached.

Usage: ensure_database.py ADMIN_URL NAME
"""

import sys

import psycopg
from psycopg import sql


def main(admin_url: str, name: str) -> int:
    try:
        connection = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        print(f"cannot reach PostgreSQL: {error}", file=sys.stderr)
        return 1
    with connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
