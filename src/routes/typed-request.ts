// The request of a route whose handler lives in its own function: the same
// type the handler gets inline, its params, query and body inferred from the
// route's TypeBox schema by the type provider (no casts of validated input).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyRequest, FastifySchema, RawRequestDefaultExpression, RawServerDefault, RouteGenericInterface } from 'fastify'

export type TypedRequest<Schema extends FastifySchema> =
  FastifyRequest<RouteGenericInterface, RawServerDefault, RawRequestDefaultExpression, Schema, TypeBoxTypeProvider>
