// What the signed-in key may do, from GET /me: the console hides what it may not do rather than
// showing controls that would fail. The API decides in the end; these mirror its rules.

export function access(me) {
  const a = (me && me.access) || {};
  return {
    admin: Boolean(a.admin),
    projectAdmin: new Set(a.projectAdmin || []),
    projectMember: new Set(a.projectMember || []),
  };
}

export const isAdmin = (me) => access(me).admin;
export const isTeamKey = (me) => Boolean(me) && me.keyType === 'user';
export const isSelf = (me, key) => Boolean(me && key) && me.prefix === key.prefix;

/** Projects the key administers. */
export const adminProjects = (me) => [...access(me).projectAdmin].sort();
/** Projects the key sees (administers or is a member of). */
export function memberProjects(me) {
  const a = access(me);
  return [...new Set([...a.projectAdmin, ...a.projectMember])].sort();
}

const projectOf = (key) => (key && key.project ? key.project.id : null);
const administers = (me, project) => Boolean(project) && (isAdmin(me) || access(me).projectAdmin.has(project));

/** Roles the key holds; an admin may grant any. */
export const holds = (me, role) => isAdmin(me) || (me.roles || []).includes(role);
export const holdsAll = (me, key) => isAdmin(me) || (key.roles || []).every((r) => holds(me, r));

export const canCreate = (me) => isAdmin(me) || memberProjects(me).length > 0;
export const canCreateTeamKey = (me) => isAdmin(me);
/** Whether a key created by `me` in `project` starts Pending. */
export const createsPending = (me, project) => !isAdmin(me) && !access(me).projectAdmin.has(project);

function manages(me, key) {
  if (!key || key.status === 'Deleted') return false;
  if (isAdmin(me)) return true;
  return key.keyType === 'system' && administers(me, projectOf(key));
}

/** PATCH at all (a team key never updates itself). */
export const canUpdate = (me, key) => manages(me, key) && !(isSelf(me, key) && !isAdmin(me));
/** Status, roles, expiry: never on the key itself. */
export const canChangeGuarded = (me, key) => canUpdate(me, key) && !isSelf(me, key);
export const canBlock = (me, key) => canChangeGuarded(me, key) && key.status === 'Active';
export const canUnblock = (me, key) => canChangeGuarded(me, key) && key.status === 'Disabled' && holdsAll(me, key);
export const canApprove = (me, key) => canChangeGuarded(me, key) && (key.status === 'Pending' || key.status === 'Rejected');
export const canReject = (me, key) => canChangeGuarded(me, key) && key.status === 'Pending';
export const canHighPriority = (me, key) => isAdmin(me) && canChangeGuarded(me, key);
export const canEditLimits = (me, key) => canChangeGuarded(me, key);

export function canDelete(me, key) {
  if (!key || key.status === 'Deleted') return false;
  return manages(me, key) || (isSelf(me, key) && key.keyType === 'user');
}

export function canReplace(me, key) {
  if (!key || key.status === 'Deleted') return false;
  if (isSelf(me, key) && key.keyType === 'user') return true;
  return manages(me, key) && holdsAll(me, key);
}

export const canSeeApprovals = (me) => isAdmin(me) || access(me).projectAdmin.size > 0;
export const canSeeActivity = (me) => isAdmin(me) || access(me).projectAdmin.size > 0;

/** Sentences for "what you may do". */
export function abilities(me) {
  const a = access(me);
  const out = [];
  if (a.admin) {
    out.push(`Manage every key of team ${me.account.id}: team keys for any user and project keys in any project.`);
    out.push('Approve or reject pending keys, mark keys high priority and see the whole team’s activity.');
  }
  for (const p of [...a.projectAdmin].sort()) {
    out.push(`Project ${p}: create (active at once), list, view, replace, update, approve, reject and delete its keys, and see its activity.`);
  }
  for (const p of [...a.projectMember].sort()) {
    if (a.projectAdmin.has(p)) continue;
    out.push(`Project ${p}: list and view its keys, and create one, which stays Pending until a project admin approves it.`);
  }
  if (me.keyType === 'user') out.push('View, replace and delete your own team key.');
  if (!out.length) out.push('View the keys your roles name. This key holds no management role.');
  return out;
}
