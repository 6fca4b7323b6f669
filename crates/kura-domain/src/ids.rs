//! Typed identifiers. Each wraps a UUID (version 7 when minted by the store) so that a `UserId`
//! can never be passed where a `TenantId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A contracting customer organisation.
    TenantId
);
id_type!(
    /// A member of a tenant's staff.
    UserId
);
id_type!(
    /// An account of the company that runs Kura; never a member of a tenant.
    OperatorId
);
id_type!(
    /// A tenant's role (permission group).
    RoleId
);
id_type!(
    /// A tenant-defined collection of records.
    CollectionId
);
id_type!(
    /// One record of a collection.
    RecordId
);
id_type!(
    /// A tenant's API key.
    ApiKeyId
);
