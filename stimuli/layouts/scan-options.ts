/** Options every layout reader understands (the CLI's flags, one for one). */
export interface ScanOptions {
  /** Layer order per model (`--layers model=l1,l2,…`); wins over files in the set. */
  layers?: Record<string, string[]>;
  /** A `categories.txt`-style file fixing the category list and button order. */
  categoriesFile?: string;
  /** web-layout: the file mapping source index → category (CSV `source,category` or JSON object). */
  sourceCategories?: string;
  /** model-metamers: model names, one per folder in order (default: each folder's name). */
  modelNames?: string[];
  /** model-metamers: take natural stimuli from this model's folder only (other copies not compared). */
  naturalFrom?: string;
  /** model-metamers / web-layout: a folder `<category>/<source>.<ext>` of practice stimuli. */
  practice?: string;
}
