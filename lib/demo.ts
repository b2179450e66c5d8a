// Demo accounts for `deno task dev`: on an empty database, one teacher and two students with
// fresh random passwords, returned so that the caller can print them once.
import type { Accounts } from "./accounts.ts";

export interface DemoAccount {
  username: string;
  password: string;
  role: "teacher" | "member";
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
}

/** The demo accounts' usernames. */
export const DEMO_USERNAMES = ["teacher", "alice", "bob"] as const;

export async function seedDemoAccounts(accounts: Accounts): Promise<DemoAccount[]> {
  if (!await accounts.isEmpty()) return [];
  const people = [
    { username: "teacher", firstName: "Tess", lastName: "Teacher", role: "teacher" as const },
    { username: "alice", firstName: "Alice", lastName: "Student", role: "member" as const },
    { username: "bob", firstName: "Bob", lastName: "Student", role: "member" as const },
  ];
  const created: DemoAccount[] = [];
  for (const person of people) {
    const password = randomPassword();
    await accounts.create({
      ...person,
      password,
      email: `${person.username}@example.com`,
      emailVerified: true,
    });
    created.push({ username: person.username, password, role: person.role });
  }
  return created;
}
