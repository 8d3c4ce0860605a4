//! Closed value sets of the apigatewayv2 model. Clients validate none of them, so the
//! service must (control-plane.md §2.1).

use crate::error::{Result, ServiceError};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// Parses a request member, answering a bad value the way the service does.
            pub fn parse_member(s: &str, member: &str) -> Result<Self> {
                Self::parse(s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ServiceError::BadRequest(format!(
                        "Invalid {member} specified. Must be one of [{}]",
                        all.join(", ")
                    ))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// From the text as the deserializer holds it: no string is allocated per value
            /// (every stored document has a few of these, decoded at each start).
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct Text;
                impl serde::de::Visitor<'_> for Text {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<$name, E> {
                        $name::parse(s).ok_or_else(|| E::custom(format!("unknown value {s}")))
                    }
                }
                d.deserialize_str(Text)
            }
        }
    };
}

wire_enum!(ProtocolType { Http = "HTTP", WebSocket = "WEBSOCKET" });
wire_enum!(IntegrationType {
    Aws = "AWS",
    Http = "HTTP",
    Mock = "MOCK",
    HttpProxy = "HTTP_PROXY",
    AwsProxy = "AWS_PROXY",
});
wire_enum!(ConnectionType { Internet = "INTERNET", VpcLink = "VPC_LINK" });
wire_enum!(ContentHandlingStrategy {
    ConvertToBinary = "CONVERT_TO_BINARY",
    ConvertToText = "CONVERT_TO_TEXT",
});
wire_enum!(PassthroughBehavior {
    WhenNoMatch = "WHEN_NO_MATCH",
    Never = "NEVER",
    WhenNoTemplates = "WHEN_NO_TEMPLATES",
});
wire_enum!(AuthorizationType {
    None = "NONE",
    AwsIam = "AWS_IAM",
    Custom = "CUSTOM",
    Jwt = "JWT",
});
wire_enum!(
    /// An authorizer's kind: a Lambda function (`REQUEST`) or JSON Web Tokens (`JWT`, HTTP APIs).
    AuthorizerType { Request = "REQUEST", Jwt = "JWT" }
);
wire_enum!(LoggingLevel { Error = "ERROR", Info = "INFO", Off = "OFF" });
wire_enum!(DeploymentStatus { Pending = "PENDING", Failed = "FAILED", Deployed = "DEPLOYED" });
wire_enum!(IpAddressType { Ipv4 = "ipv4", Dualstack = "dualstack" });
wire_enum!(
    /// The payload format an integration sends (`payloadFormatVersion`).
    PayloadFormatVersion { V1 = "1.0", V2 = "2.0" }
);

impl IntegrationType {
    pub fn is_proxy(self) -> bool {
        matches!(self, IntegrationType::HttpProxy | IntegrationType::AwsProxy)
    }
}
