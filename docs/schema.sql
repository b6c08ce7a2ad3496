-- IntraSoft CRM: the four tables the service reads and writes.
--
-- This is the reference of what the service expects of the existing database (MySQL 8,
-- AWS RDS in production). The service never runs it against a real schema; it is what
-- `manage.py create_crm_tables` runs on an empty MySQL database and what the MySQL test
-- suite builds its database from, so the tests prove the models map this DDL.
-- Runs unchanged on MySQL 8.0+ and MariaDB 10.5+.

CREATE TABLE customer (
    cid                  INT          NOT NULL,
    customer_name        VARCHAR(255) NOT NULL,
    area                 VARCHAR(32)  NOT NULL,
    account_executive    VARCHAR(128) NULL,
    technical_specialist VARCHAR(128) NULL,
    industry             VARCHAR(64)  NULL,
    contract_type        VARCHAR(32)  NULL,
    contract_start_date  DATE         NULL,
    contract_end_date    DATE         NULL,
    is_active            TINYINT(1)   NOT NULL DEFAULT 1,
    is_key_account       TINYINT(1)   NOT NULL DEFAULT 0,
    PRIMARY KEY (cid),
    KEY idx_customer_area (area)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE crm_opportunities (
    oid                 CHAR(32)         NOT NULL,
    cid                 INT              NOT NULL,
    opportunity_name    VARCHAR(255)     NOT NULL,
    product             VARCHAR(64)      NOT NULL,
    status              VARCHAR(32)      NOT NULL,
    est_monthly_revenue DECIMAL(12,2)    NOT NULL,
    probability         TINYINT UNSIGNED NULL,
    forecast_category   VARCHAR(16)      NULL,
    expected_close_date DATE             NOT NULL,
    created_at          DATETIME(6)      NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at          DATETIME(6)      NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (oid),
    KEY idx_opportunities_cid (cid),
    KEY idx_opportunities_status (status),
    KEY idx_opportunities_expected_close_date (expected_close_date),
    CONSTRAINT fk_opportunities_customer FOREIGN KEY (cid) REFERENCES customer (cid) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE revenue_actuals (
    id      INT           NOT NULL AUTO_INCREMENT,
    area    VARCHAR(32)   NOT NULL,
    month   DATE          NOT NULL,
    revenue DECIMAL(14,2) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_actuals_area_month (area, month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE revenue_targets (
    id          INT           NOT NULL AUTO_INCREMENT,
    area        VARCHAR(32)   NOT NULL,
    fiscal_year SMALLINT      NOT NULL,
    target      DECIMAL(14,2) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_targets_area_fy (area, fiscal_year)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
