//! Follow-through: the probability that this person does this intervention now,
//! from their history, its effort and the context, with a population prior.
