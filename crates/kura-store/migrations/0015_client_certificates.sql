-- Client certificates a tenant's administrators issued (IAM-11). The certificate's key is never
-- stored; `fingerprint` is the SHA-256 of the certificate (upper-case hex pairs with colons),
-- `serial` its serial number in lower-case hex. A revoked certificate keeps its row, with the
-- time of revocation. `last_used_at` and `last_used_ip` are recorded to the minute, like an API
-- key's last use.
CREATE TABLE client_certificates (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    serial TEXT NOT NULL,
    holder TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by UUID NULL,
    revoked_at BIGINT NULL,
    last_used_at BIGINT NULL,
    last_used_ip TEXT NULL,
    PRIMARY KEY (tenant_id, serial),
    UNIQUE (fingerprint)
);
