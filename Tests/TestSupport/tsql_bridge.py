#!/usr/bin/env python3
"""Checks statements written for Microsoft SQL Server and translates them for PostgreSQL.

Used by the tests' T-SQL bridge (TSQLBridge.swift): one JSON request per line on standard input,
{"sql": "..."}, one JSON answer per line on standard output:

  {"sql": "<PostgreSQL>", "order": [i, ...]}   the statement to run, and for each of its parameter
                                               markers the index of the original parameter
  {"error": "<why>"}                           the statement is not valid T-SQL for SQL Server

A statement is refused when sqlglot's T-SQL parser cannot parse it, when it uses syntax that
sqlglot's parser accepts in every dialect but SQL Server does not have (LIMIT, ||, ::, ILIKE,
RETURNING, TRUE/FALSE), or when it has more than 2,100 parameters (SQL Server's limit).

Accepted statements are transpiled by sqlglot to PostgreSQL. Where sqlglot's output is not
PostgreSQL, three rewrites follow the meaning SQL Server's documentation gives the T-SQL:
  - `col.WRITE(x, NULL, NULL)` (append x to a max-length value) becomes `col = col || x`;
  - a `(MAX)` length (NVARCHAR(MAX), VARBINARY(MAX)) is dropped: PostgreSQL's types have no limit;
  - the columns of a PRIMARY KEY or UNIQUE constraint lose the NULLS FIRST that sqlglot adds to
    them (SQL Server's sort order of NULLs; PostgreSQL allows no ordering there).
"""

import json
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType

TSQL = sqlglot.Dialect.get_or_raise("tsql")
MAX_PARAMETERS = 2100
NOT_TSQL = {
    TokenType.LIMIT: "LIMIT (SQL Server has TOP)",
    TokenType.DPIPE: "|| (SQL Server concatenates with +)",
    TokenType.DCOLON: ":: casts",
    TokenType.ILIKE: "ILIKE",
    TokenType.RETURNING: "RETURNING (SQL Server has OUTPUT)",
    TokenType.TRUE: "TRUE (SQL Server has no boolean literals)",
    TokenType.FALSE: "FALSE (SQL Server has no boolean literals)",
}
NAMED = re.compile(r"%\(p(\d+)\)s")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def rewrite(node):
    """The rewrites where sqlglot's PostgreSQL output would not be PostgreSQL."""
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous):
        call = node.expression
        if call.name.upper() == "WRITE":
            args = call.expressions
            if len(args) != 3 or not all(isinstance(a, exp.Null) for a in args[1:]):
                raise ValueError("only the append form .WRITE(x, NULL, NULL) is translated")
            column = exp.column(node.this.copy())
            return exp.EQ(this=column, expression=exp.DPipe(this=column.copy(), expression=args[0].copy()))
    if isinstance(node, exp.Ordered) and isinstance(node.parent, (exp.PrimaryKey, exp.UniqueColumnConstraint)):
        return node.this.copy()
    if isinstance(node, exp.DataType):
        if any(isinstance(p, exp.DataTypeParam) and p.name.upper() == "MAX" for p in node.expressions):
            node = node.copy()
            node.set("expressions", [])
            return node
    return node


def check_and_translate(sql):
    tokens = TSQL.tokenize(sql)
    markers = []
    for token in tokens:
        if token.token_type in NOT_TSQL:
            raise ValueError(f"not T-SQL: {NOT_TSQL[token.token_type]} at character {token.start}")
        if token.token_type == TokenType.PLACEHOLDER:
            if token.text != "?":
                raise ValueError(f"parameter marker {token.text!r}: ODBC statements use ?")
            markers.append(token)
    if len(markers) > MAX_PARAMETERS:
        raise ValueError(f"{len(markers)} parameters: SQL Server takes at most {MAX_PARAMETERS}")
    statements = [s for s in sqlglot.parse(sql, read="tsql", error_level=ErrorLevel.RAISE) if s is not None]
    if len(statements) != 1:
        raise ValueError(f"{len(statements)} statements in one")
    # The same statement with numbered markers, so the markers can be followed through the translation.
    numbered = sql
    for index in reversed(range(len(markers))):
        token = markers[index]
        numbered = numbered[: token.start] + f":p{index}" + numbered[token.end + 1 :]
    tree = sqlglot.parse_one(numbered, read="tsql", error_level=ErrorLevel.RAISE)
    tree = tree.transform(rewrite)
    postgres = tree.sql(dialect="postgres", unsupported_level=ErrorLevel.RAISE)
    order = [int(match.group(1)) for match in NAMED.finditer(postgres)]
    if sorted(order) != list(range(len(markers))):
        raise ValueError(f"the translation lost or repeated parameters: {order} for {len(markers)}")
    return NAMED.sub("?", postgres), order


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            translated, order = check_and_translate(request["sql"])
            answer = {"sql": translated, "order": order}
        except Exception as error:  # every failure goes back to the test, named
            answer = {"error": ANSI.sub("", f"{type(error).__name__}: {error}")}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1:  # a statement on the command line: print the answer (for a person)
        try:
            print(check_and_translate(sys.argv[1]))
        except Exception as error:
            print(f"refused: {error}")
            sys.exit(1)
    else:
        main()
