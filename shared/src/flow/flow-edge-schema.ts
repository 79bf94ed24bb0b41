import Type from 'typebox';

/** An edge of the flow or of a map's sub-graph (its own file: map-node.ts needs it too). */
export const FlowEdgeSchema = Type.Object(
  {
    from: Type.String(),
    to: Type.String(),
    /** Only on edges out of condition / switch nodes. */
    when: Type.Optional(Type.Unknown()),
    default: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, title: 'FlowEdge' },
);
