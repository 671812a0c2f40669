{
  "targets": [
    {
      "target_name": "sqlite_columns",
      "sources": ["sqlite_columns.c"],
      "include_dirs": ["../../node_modules/better-sqlite3/deps/sqlite3"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
