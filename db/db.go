// Package db embeds the SQL migrations. A file named NNNN_name.sql applies to every database;
// NNNN_name.postgres.sql and NNNN_name.sqlite.sql are the rare dialect-specific branches.
package db

import "embed"

//go:embed migrations/*.sql
var Migrations embed.FS
