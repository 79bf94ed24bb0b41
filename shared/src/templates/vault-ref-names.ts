import { collectRefs } from './collect-refs.js';

/**
 * Distinct secret names read by `{{vault.NAME}}` references in `texts`, in order of first use.
 * Malformed vault references (`{{vault}}`, `{{vault.A.B}}`) are left out: rendering reports them.
 * Throws TEMPLATE_SYNTAX on a malformed template.
 */
export function vaultRefNames(texts: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const text of texts) {
    for (const ref of collectRefs(text)) {
      const [name] = ref.path;
      if (ref.root === 'vault' && name !== undefined && ref.path.length === 1) names.add(name);
    }
  }
  return [...names];
}
