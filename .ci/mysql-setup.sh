#!/usr/bin/env bash
# Make sure a MariaDB/MySQL server answers on 127.0.0.1:3306 and that the project's own
# user exists with rights on its databases. Runs as root (CI, a fresh dev machine); safe to
# run again. Root logs in through the local socket, so MYSQL_HOST must not leak into it.
set -euo pipefail

MYSQL_USER="${MYSQL_USER:-intrasoft}"
MYSQL_PASSWORD="${MYSQL_PASSWORD:-intrasoft}"
MYSQL_DB="${MYSQL_DB:-intrasoft}"

root_sql() { env -u MYSQL_HOST -u MYSQL_TCP_PORT mariadb -uroot "$@"; }

if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
  echo "mysql-setup: installing mariadb-server"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi

if ! root_sql -e "SELECT 1" >/dev/null 2>&1; then
  echo "mysql-setup: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 60); do
    root_sql -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
  done
fi
root_sql -e "SELECT 1" >/dev/null

root_sql <<SQL
CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'127.0.0.1' IDENTIFIED BY '${MYSQL_PASSWORD}';
CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'localhost' IDENTIFIED BY '${MYSQL_PASSWORD}';
CREATE DATABASE IF NOT EXISTS \`${MYSQL_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON \`${MYSQL_DB}\`.* TO '${MYSQL_USER}'@'127.0.0.1', '${MYSQL_USER}'@'localhost';
GRANT ALL PRIVILEGES ON \`test\\_${MYSQL_DB}%\`.* TO '${MYSQL_USER}'@'127.0.0.1', '${MYSQL_USER}'@'localhost';
FLUSH PRIVILEGES;
SQL
echo "mysql-setup: ${MYSQL_USER}@127.0.0.1 can use ${MYSQL_DB} and test_${MYSQL_DB}*"
