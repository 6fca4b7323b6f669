-- The audit chains become Merkle logs (LOG-3, RFC 6962). Beside each chain head, the tree's
-- compact range: the tree size (8 bytes big-endian) and one subtree root per set bit of it,
-- highest first, so an append costs O(log n) hashes and the tree head is known after every
-- batch. NULL until the store has built the tree from the existing entries, which it does when
-- it opens the database (`Store::open`), before any write.
ALTER TABLE audit_heads ADD COLUMN tree BYTEA NULL;

-- The hashes of every completed perfect subtree above the leaves (level >= 1), written in the
-- batch that completes them: the 2^level leaves idx * 2^level .. (idx + 1) * 2^level of the
-- scope's log. Leaf hashes (level 0) are not kept: they are recomputed from the stored entries.
-- Proofs read from here; nothing is ever updated or deleted.
CREATE TABLE audit_tree_nodes (
    scope_id UUID NOT NULL,
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (scope_id, level, idx)
);
