//! What the reception server answers (spec §4, §8.4–§8.6): the decisions that turn an
//! [`Inspection`] into an Accept and a DataDelete into a DeleteRegist, so the gateway only
//! moves bytes. The Regist, built from the record checker's verdicts, is `kx-records`'.

use chrono::{DateTime, FixedOffset};

use crate::TransmissionNumber;
use crate::inspect::Inspection;
use crate::message::{
    Accept, ArrivalResult, CancelResult, DENSO_VERSION, DeleteRegist, Environment,
};

/// The envelope every reply shares: where it goes, where from, when, in which environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyTo {
    /// Production or the test environment's loopback mode.
    pub environment: Environment,
    /// The `From` address of the client's message (the master address for a Result).
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server writes the reply.
    pub date: DateTime<FixedOffset>,
}

impl Accept {
    /// The Accept that answers an inspected DataSend or DataDelete: Success when it broke no
    /// rule, otherwise IFErr with the first violation's code. A transmission number that is not
    /// valid is not echoed.
    pub fn answering(inspection: &Inspection, reply: ReplyTo) -> Accept {
        Accept {
            environment: reply.environment,
            to: reply.to,
            from: reply.from,
            date: reply.date,
            number: inspection
                .transmission_number
                .as_deref()
                .and_then(|n| n.parse().ok()),
            result: match inspection.first_code() {
                None => ArrivalResult::Success,
                Some(code) => ArrivalResult::IfErr(code.into()),
            },
            version: Some(DENSO_VERSION.into()),
        }
    }
}

impl DeleteRegist {
    /// The DeleteRegist of a DataDelete: `number` is the DataDelete's own, `cancelled` the one it
    /// names.
    pub fn answering(
        reply: ReplyTo,
        number: TransmissionNumber,
        cancelled: TransmissionNumber,
        result: CancelResult,
    ) -> DeleteRegist {
        DeleteRegist {
            environment: reply.environment,
            to: reply.to,
            from: reply.from,
            date: reply.date,
            number,
            cancelled,
            result,
            version: Some(DENSO_VERSION.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, inspect};

    fn reply(environment: Environment) -> ReplyTo {
        ReplyTo {
            environment,
            to: "J13123456780@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date: crate::date::parse("Mon, 23 Nov 2026 10:00:00 +0900").unwrap(),
        }
    }

    #[test]
    fn accept_answers_the_first_violation() {
        let inspection = inspect(b"Subject: Transmit DataSend\r\n\r\n", &Context::default());
        let accept = Accept::answering(&inspection, reply(Environment::Production));
        let first = inspection.first_code().unwrap();
        assert_eq!(accept.result, ArrivalResult::IfErr(first.into()));
        assert_eq!(accept.number, None);
    }
}
